# Shortcuts. The README's two commands are ./scripts/demo and ./scripts/test: they
# need nothing installed first (make included) and install what they use.
.PHONY: demo test setup setup-test lint types bench fuzz tsan wheel docs

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

demo:
	@scripts/demo

test:
	@scripts/test

lint: setup-test
	@scripts/lint.sh

types: setup-test
	@scripts/check_types.sh

bench: setup-test
	@scripts/bench.sh

fuzz: setup-test
	@FUZZ_SECONDS=600 scripts/fuzz.sh
	TIERKIT_HOSTILE_EXAMPLES=3000 .venv/bin/python -m pytest tests/python/test_hostile_frames.py -q -s

tsan: setup-test
	@scripts/tsan.sh

wheel: setup-test
	@scripts/wheel.sh

docs: setup-test
	@scripts/docs.sh
