# The two commands of the README. Both run scripts/setup first (virtualenv, the project's own
# database servers: scripts/db).
.PHONY: demo test setup

demo: setup
	scripts/demo

test: setup
	scripts/test

setup:
	scripts/setup
