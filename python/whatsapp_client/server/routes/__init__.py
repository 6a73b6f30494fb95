"""REST handlers of §6, one module per resource."""
