# The two commands a new user needs: `make demo` and `make test`.
.PHONY: setup demo test test-faults test-ha serve clean lock lock-upgrade

setup:
	@ops/setup

demo: setup
	.venv/bin/cad demo

test: setup
	@ops/check

# The long form of the fault suite (its short form runs in `make test`): 15 s of load before
# and after each fault, the database frozen 15 s; then the API fuzzed with more examples.
# The figures go into docs/reliability.md.
test-faults: setup
	CAD_FAULT_SECONDS=$${CAD_FAULT_SECONDS:-15} CAD_FAULT_FREEZE_SECONDS=$${CAD_FAULT_FREEZE_SECONDS:-15} \
		.venv/bin/pytest tests/faults -q
	CAD_FUZZ_EXAMPLES=$${CAD_FUZZ_EXAMPLES:-10} \
		.venv/bin/pytest tests/integration/command/test_fuzz_api.py -q -s --timeout 1800

# Only the failover tests (also part of `make test`): etcd and two PostgreSQL nodes under
# Patroni, the primary killed under a load of writes; prints the figures.
test-ha: setup
	.venv/bin/pytest tests/ha -q

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
