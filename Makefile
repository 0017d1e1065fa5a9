# The two commands: `make run` and `make test`. Both set up whatever is missing.
.PHONY: run test setup db db-stop build lint bench bench-live bench-widget eval fuzz clean-data sqlx-prepare

run:
	scripts/run.sh

test:
	scripts/test.sh

setup:
	scripts/setup.sh test

db:
	scripts/db.sh

db-stop:
	scripts/db.sh --stop

build:
	scripts/build.sh release

sqlx-prepare:
	scripts/sqlx-prepare.sh

lint:
	cargo fmt --all --check
	cargo clippy --locked -p app -p server --all-targets -- -D warnings
	cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings

# Figures for the closing notes (release build): ingestion of the PostgreSQL
# manual, the answer path on the demo workspace, the UI's sizes.
bench: build db
	scripts/bench.sh

# The live thread's load bench alone: idle sockets, fan-out latency, memory.
bench-live: build db
	DATABASE_URL="$${DATABASE_URL:-$$(scripts/db.sh --url)}" target/release/tandem-load

# The widget alone: transfer sizes and times on a third-party page.
bench-widget: build db
	scripts/widget-bench.sh

# The answer engine's figures on ../shared/eval (tune and report sets).
eval: build db
	scripts/eval.sh

clean-data: db-stop
	rm -rf .data

# A bounded fuzzing run (nightly + cargo-fuzz), growing fuzz/corpus/.
fuzz:
	scripts/fuzz.sh
