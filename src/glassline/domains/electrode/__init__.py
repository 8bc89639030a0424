"""The electrode reference case: constants, physics and the simulated pilot line."""

#: The simulated pilot line's default random seed (the paper's year): the simulator's and its command's.
SIMULATOR_SEED = 2023
