# The two commands of the README. Both run scripts/setup first (virtualenv, local databases).
.PHONY: demo test setup

demo: setup
	scripts/demo

test: setup
	scripts/test

setup:
	scripts/setup
