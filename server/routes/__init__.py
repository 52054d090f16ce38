"""HTTP handlers: thin functions that read a request, call the core and render its answer."""
