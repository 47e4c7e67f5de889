"""The one check that a request fits the model's context window (the positions it was
trained for: `max_position`, from config.json's max_position_embeddings / n_positions):
a prompt plus output past it is an error naming the limit, unless the caller opts in
(`--allow-past-context`), when it is a note on the result. `llm`, its extras and
`plan serve` all call it."""

from __future__ import annotations

from ..errors import PlanError
from ..frontends.spec import ModelSpec


def check_context(spec: ModelSpec, prompt_len: int, output_len: int, *, allow: bool = False) -> str | None:
    """None when prompt + output (vLLM's max_model_len bound) fits, or the model states no
    limit; the note to carry in the result when it does not and `allow` is set; else a
    PlanError that names the limit."""
    limit = spec.max_position
    total = prompt_len + output_len
    if not limit or total <= limit:
        return None
    msg = (
        f"prompt {prompt_len} + output {output_len} = {total} tokens exceed {spec.name}'s context of "
        f"{limit} tokens (max_position_embeddings)"
    )
    if allow:
        return msg + "; costed anyway (--allow-past-context)"
    raise PlanError(msg + "; shorten them or pass --allow-past-context")
