// Stub: replaced by the real tests.
