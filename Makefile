# Set-up and entry points. `make demo` and `make test` work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= train,merge,eval,hf,gguf,llama,test
DEMO_OUT ?= demo-out
LLAMA_VERSION := 0.3.36
TEST_WORKERS ?= 2

.PHONY: venv demo test test-fast test-real real bench clean

$(VENV)/.installed: setup.cfg pyproject.toml scripts/llama_wheel.sh
	test -x $(PY) || $$(scripts/python312.sh) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0"
	# llama-cpp-python's source distribution: built below without native CPU tuning (a wheel that
	# runs on any x86-64 CPU with AVX2), and llama.cpp's own converter, for the test that compares
	# dada gguf's output with it
	$(PY) -m pip download -q --no-binary :all: --no-deps -d $(VENV)/llama-cpp-src "llama-cpp-python==$(LLAMA_VERSION)"
	tar xzf $(VENV)/llama-cpp-src/llama_cpp_python-$(LLAMA_VERSION).tar.gz -C $(VENV)/llama-cpp-src --wildcards \
	  '*/vendor/llama.cpp/convert_hf_to_gguf.py' '*/vendor/llama.cpp/conversion/*' '*/vendor/llama.cpp/gguf-py/*'
	wheel=$$(scripts/llama_wheel.sh $(PY) $(LLAMA_VERSION) $(VENV)/llama-cpp-src/llama_cpp_python-$(LLAMA_VERSION).tar.gz) && \
	  $(PY) -m pip install -q --force-reinstall --no-deps "$$wheel" && $(PY) -m pip install -q "$$wheel[server]"
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/dada demo -o $(DEMO_OUT)

# the main suite, then the real-model tests (make real installs the model first; about 12 min)
test: venv
	AXOLOTL_DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
	  $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not real" tests
	$(MAKE) test-real

# google/gemma-3-270m (Gemma Terms of Use) from the package registry, into the project's environment
real: venv
	$(PY) -m pip install -q -e ".[real]"

# the tests of the real model: the quick real demo end to end and the converted model's checks
test-real: real
	AXOLOTL_DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
	  $(PY) -m pytest -q -m real tests/real

# no training, merging, model building or llama.cpp: about a minute and a half
test-fast: venv
	AXOLOTL_DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
	  $(PY) -m pytest -q -m "not slow" tests

bench: venv
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(DEMO_OUT)
