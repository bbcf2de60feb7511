"""A ladder plugin for the tests: one rung, one check kind, one backend."""
