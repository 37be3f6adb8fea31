# The two commands of the README: `make demo` and `make test`. Both install what
# they need first (Debian packages, a .venv with the Python package).
.PHONY: demo test setup bench fuzz tsan

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/tierkit demo --out out/demo

test: setup
	@scripts/test.sh

bench: setup
	@scripts/bench.sh

fuzz: setup
	@FUZZ_SECONDS=600 scripts/fuzz.sh
	TIERKIT_HOSTILE_EXAMPLES=3000 .venv/bin/python -m pytest tests/python/test_hostile_frames.py -q -s

tsan: setup
	@scripts/tsan.sh
