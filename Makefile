# Thin wrapper: every target is a ./dev command (which also works without make).
.PHONY: demo test lint typecheck pytest bench samples setup
demo test lint typecheck pytest bench samples setup:
	./dev $@
