"""Testing helpers: ``kerasette.testing.standin``, a CuPy stand-in over NumPy that
lets CI prove the GPU code path on a machine without a GPU."""
