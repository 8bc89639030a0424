"""Domain packs: the physics, constants, simulators and study files of one application each.

The core of glassline knows nothing of any domain; a domain pack brings its own equations and a
reference case with known ground truth. ``electrode`` is the graphite-anode pilot line of the paper.
"""
