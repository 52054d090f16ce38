"""Our hand-written parts held against the libraries that do the same job (issue 15): each
library variant is a real branch of the server's code path, switched in by name
(`benchmarks.libraries.variants`), measured beside ours and run through our tests."""
