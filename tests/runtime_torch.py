"""Small blocks in plain torch that mirror torchvision's and Hugging Face's modules,
exported the way benchmarks/export_torchvision.py exports (TorchScript exporter), once
per test session. Mirrors (module code as of torchvision 0.2x / transformers 4.x):

- vit: torchvision.models.vision_transformer.EncoderBlock (nn.MultiheadAttention with
  batch_first=True, need_weights=False; MLPBlock Linear-GELU-Linear);
- swin: torchvision.models.swin_transformer.shifted_window_attention without the shift
  (window partition, qkv Linear, q * scale @ k^T + relative bias, softmax, @ v);
- convnext: torchvision.models.convnext.CNBlock (7x7 depthwise conv, Permute, LayerNorm,
  Linear-GELU-Linear, Permute, layer scale, residual);
- gpt2: HF GPT2Block in "eager" attention (Conv1D-style qkv, scores / sqrt(d), causal
  mask by torch.where, gelu_new);
- llama: HF LlamaDecoderLayer with SDPA attention (is_causal), RMSNorm written out,
  SwiGLU MLP;
- bert: an encoder layer exported at opset 14, where F.layer_norm is decomposed.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any


def export_all(torch: Any, out: Any) -> dict[str, str]:
    nn = torch.nn
    F = torch.nn.functional

    class ViT(nn.Module):
        def __init__(self, d: int = 32, h: int = 4) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.self_attention = nn.MultiheadAttention(d, h, batch_first=True)
            self.ln_2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            y = self.ln_1(x)
            y, _ = self.self_attention(y, y, y, need_weights=False)
            x = x + y
            return x + self.mlp(self.ln_2(x))

    class Swin(nn.Module):
        def __init__(self, c: int = 32, h: int = 4, w: int = 4) -> None:
            super().__init__()
            self.h, self.w = h, w
            self.qkv = nn.Linear(c, 3 * c)
            self.proj = nn.Linear(c, c)
            self.bias = nn.Parameter(torch.zeros(h, w * w, w * w))

        def forward(self, x):  # [B, H, W, C]
            b, hh, ww, c = x.shape
            w, heads = self.w, self.h
            x = x.view(b, hh // w, w, ww // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)
            qkv = self.qkv(x).reshape(x.size(0), w * w, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            q = q * (c // heads) ** -0.5
            attn = q.matmul(k.transpose(-2, -1)) + self.bias
            attn = F.softmax(attn, dim=-1)
            x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), w * w, c)
            x = self.proj(x)
            return x.view(b, hh // w, ww // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hh, ww, c)

    class ConvNeXt(nn.Module):
        def __init__(self, c: int = 32) -> None:
            super().__init__()
            self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
            self.ln = nn.LayerNorm(c, eps=1e-6)
            self.fc1 = nn.Linear(c, 4 * c)
            self.fc2 = nn.Linear(4 * c, c)
            self.layer_scale = nn.Parameter(torch.ones(c, 1, 1))

        def forward(self, x):
            y = self.dw(x).permute(0, 2, 3, 1)
            y = self.fc2(F.gelu(self.fc1(self.ln(y)))).permute(0, 3, 1, 2)
            return x + self.layer_scale * y

    class GPT2(nn.Module):
        def __init__(self, d: int = 32, h: int = 4, n: int = 8) -> None:
            super().__init__()
            self.h = h
            self.ln_1 = nn.LayerNorm(d)
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)
            self.ln_2 = nn.LayerNorm(d)
            self.c_fc = nn.Linear(d, 4 * d)
            self.mlp_proj = nn.Linear(4 * d, d)
            self.register_buffer("causal", torch.tril(torch.ones(n, n, dtype=torch.bool)).view(1, 1, n, n))

        def forward(self, x):
            b, s, d = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
            q, k, v = (t.view(b, s, self.h, d // self.h).transpose(1, 2) for t in (q, k, v))
            w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d // self.h)
            w = torch.where(self.causal[:, :, :s, :s], w, torch.tensor(torch.finfo(w.dtype).min))
            w = F.softmax(w, dim=-1)
            a = torch.matmul(w, v).transpose(1, 2).reshape(b, s, d)
            x = x + self.c_proj(a)
            hdn = self.c_fc(self.ln_2(x))
            hdn = 0.5 * hdn * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (hdn + 0.044715 * torch.pow(hdn, 3.0))))
            return x + self.mlp_proj(hdn)

    class RMSNorm(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d))

        def forward(self, x):
            v = x.pow(2).mean(-1, keepdim=True)
            return self.weight * (x * torch.rsqrt(v + 1e-6))

    class Llama(nn.Module):
        def __init__(self, d: int = 32, h: int = 4, ffn: int = 64) -> None:
            super().__init__()
            self.h = h
            self.input_layernorm = RMSNorm(d)
            self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
            self.post_attention_layernorm = RMSNorm(d)
            self.gate = nn.Linear(d, ffn, bias=False)
            self.up = nn.Linear(d, ffn, bias=False)
            self.down = nn.Linear(ffn, d, bias=False)

        def forward(self, x):
            b, s, d = x.shape
            y = self.input_layernorm(x)
            q, k, v = (p(y).view(b, s, self.h, d // self.h).transpose(1, 2) for p in (self.q, self.k, self.v))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, s, d)
            x = x + self.o(a)
            y = self.post_attention_layernorm(x)
            return x + self.down(F.silu(self.gate(y)) * self.up(y))

    class Bert(nn.Module):
        def __init__(self, d: int = 32) -> None:
            super().__init__()
            self.fc = nn.Linear(d, d)
            self.ln = nn.LayerNorm(d)

        def forward(self, x):
            return self.ln(x + self.fc(x))

    cases = {
        "vit": (ViT(), (2, 9, 32), 17),
        "swin": (Swin(), (2, 8, 8, 32), 17),
        "convnext": (ConvNeXt(), (2, 32, 8, 8), 17),
        "gpt2": (GPT2(), (2, 8, 32), 17),
        "llama": (Llama(), (2, 8, 32), 17),
        "bert": (Bert(), (2, 8, 32), 14),
    }
    paths = {}
    # with grad enabled, as benchmarks/export_torchvision.py exports: under no_grad
    # nn.MultiheadAttention takes its native fast path, which has no ONNX export
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer and deprecation warnings
        for name, (module, shape, opset) in cases.items():
            path = os.path.join(str(out), f"{name}.onnx")
            torch.onnx.export(module.eval(), (torch.randn(*shape),), path, opset_version=opset, dynamo=False)
            paths[name] = path
    return paths
