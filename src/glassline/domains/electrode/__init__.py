"""The electrode reference case: constants, physics and the simulated pilot line."""
