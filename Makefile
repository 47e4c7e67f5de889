# Developer targets. The README's Quickstart is the supported way to install and test.
.PHONY: test fuzz fuzz-atheris bench calibration-report

test:
	python -m pytest -q

fuzz:  ## long hypothesis run over every input path (docs/robustness.md has the figures of the last run)
	COSTMODEL_FUZZ_EXAMPLES=$${COSTMODEL_FUZZ_EXAMPLES:-1000} python -m pytest -q -p no:cacheprovider --durations=0 \
		tests/test_fuzz.py tests/test_fuzz_inputs.py tests/test_hardening.py \
		tests/test_hardware.py -k "fuzz or random or test_hardening"

fuzz-atheris:  ## coverage-guided fuzzing of the ONNX loader (pip install atheris)
	python fuzz/fuzz_onnx_loader.py fuzz/corpus -max_total_time=600

calibration-report:  ## refit the device model, then regenerate docs/calibration.md (minutes)
	python benchmarks/fit_device_model.py --write
	python -m costmodel validate --markdown docs/calibration.md
