"""The eCRF kernel: the typed design document, its evaluation at entry, value parsing, the
checks a version must pass, casebook keys, and the published version sites enter data with.

It depends on the models and the expression language only; every capability may use it."""
