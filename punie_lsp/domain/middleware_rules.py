"""tdom-svcs middleware chain rules (MW001–MW012), checked by `validate_middleware_chain`."""
