# The two commands a new user needs: `make demo` and `make test`.
.PHONY: setup demo test serve clean

setup:
	@ops/setup

demo: setup
	.venv/bin/cad demo

test: setup
	@ops/check

serve: setup
	.venv/bin/cad serve

clean:
	-.venv/bin/cad db stop
	rm -rf var
