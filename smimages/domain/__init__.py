"""Pure service logic: ARNs, lifecycles and paging, with no I/O."""
