"""A random forest that grows scikit-learn's trees without scikit-learn's per-tree parameter introspection.

scikit-learn makes each tree of a forest by cloning the forest's template tree, setting the forest's tree
parameters on the clone and then every parameter named ``random_state`` (``BaseEnsemble._make_estimator``:
``clone`` → ``set_params`` → ``_set_random_states``, each reading the tree's parameters by
``inspect.signature`` of its ``__init__``). On the 10–90 training rows of a designed experiment growing a tree
takes less time than that bookkeeping: measured on 40 rows × 3 inputs, ``_make_estimator`` is about 40 % of a
100-tree fit, and the comparison grows some 650 forests for the demo.

:class:`RandomForest` is :class:`~sklearn.ensemble.RandomForestRegressor` with one method replaced: the tree
parameters are read once per fit, and each tree is built directly from them with the ``random_state`` that
``_set_random_states`` would have drawn (one ``randint(2**31 − 1)`` from the forest's generator per tree, in
the same order). The trees, and so every prediction, are the same as scikit-learn's for the same seed
(``tests/models/test_forest.py`` compares them); parameters, pickling, ``estimators_`` and the tree SHAP
engine see a RandomForestRegressor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils import check_random_state

__all__ = ["RandomForest"]


class RandomForest(RandomForestRegressor):  # type: ignore[misc]  # scikit-learn is untyped
    """scikit-learn's random forest regressor, tree for tree, with cheaper tree construction (module docstring)."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> RandomForest:
        self._tree_parameters: dict[str, Any] | None = None
        super().fit(X, y, sample_weight=sample_weight)
        return self

    def _make_estimator(self, append: bool = True, random_state: Any = None) -> Any:
        template = self.estimator_
        if type(template) is not DecisionTreeRegressor:  # a custom template: scikit-learn's own way
            return super()._make_estimator(append=append, random_state=random_state)
        parameters = getattr(self, "_tree_parameters", None)
        if parameters is None:
            parameters = template.get_params(deep=False)
            parameters.update({p: getattr(self, p) for p in self.estimator_params})
            self._tree_parameters = parameters
        tree = DecisionTreeRegressor(**parameters)
        if random_state is not None:
            # _set_random_states: the tree's only random_state parameter, one draw per tree
            tree.random_state = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        if append:
            self.estimators_.append(tree)
        return tree
