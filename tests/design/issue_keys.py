"""The diagnostics keys issue 3 asks of every design (JSON from the CLI, dict from Python)."""

ISSUE_KEYS = {
    "runs",
    "terms",
    "criterion",
    "i_criterion",
    "n_i",
    "d_efficiency",
    "g_max_variance",
    "max_vif",
    "max_abs_correlation",
    "fds_median",
    "lack_of_fit_df",
    "pure_error_df",
    "seconds",
}
