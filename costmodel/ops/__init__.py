"""Cost rules, one module per op family, registered in `registry.REGISTRY`."""
