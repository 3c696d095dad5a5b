# The two commands a new user needs: `make demo` and `make test`.
.PHONY: setup demo test serve clean lock lock-upgrade

setup:
	@ops/setup

demo: setup
	.venv/bin/cad demo

test: setup
	@ops/check

serve: setup
	.venv/bin/cad serve

# requirements.lock: the exact Python packages setup installs. `lock` keeps the pins it can
# (run it after changing the dependencies in pyproject.toml); `lock-upgrade` takes the newest.
lock:
	@ops/lock

lock-upgrade:
	@ops/lock --upgrade

clean:
	-.venv/bin/cad db stop
	rm -rf var
