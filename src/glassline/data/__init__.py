"""Line data in: table readers with validation, sensor alignment, outlier rules and the cleaning log."""

from glassline.data._align import LagEstimate, Segment, align_to_coil, coil_position, estimate_lag, segment_means
from glassline.data._cleaning import CleaningLog, OutlierRule, flag_outliers, outlier_report, remove_outliers
from glassline.data._prepare import (
    DEFAULT_LEVEL,
    METADATA_FILE,
    LevelTable,
    PreparedDataset,
    check_output_folder,
    is_prepared_folder,
    level_columns,
    load_dataset,
    prepare,
    study_outlier_rule,
)
from glassline.data._readers import (
    MISSING_MARKERS,
    TABLE_SUFFIXES,
    is_missing_marker,
    read_json_object,
    read_table,
    require_columns,
    require_numeric,
    user_row,
)
from glassline.data._schema import Column, TableSchema, check_categories, check_labels, normalise_category

__all__ = [
    "DEFAULT_LEVEL",
    "METADATA_FILE",
    "MISSING_MARKERS",
    "TABLE_SUFFIXES",
    "CleaningLog",
    "Column",
    "LagEstimate",
    "LevelTable",
    "OutlierRule",
    "PreparedDataset",
    "Segment",
    "TableSchema",
    "align_to_coil",
    "check_categories",
    "check_labels",
    "check_output_folder",
    "coil_position",
    "estimate_lag",
    "flag_outliers",
    "is_missing_marker",
    "is_prepared_folder",
    "level_columns",
    "load_dataset",
    "normalise_category",
    "outlier_report",
    "prepare",
    "read_json_object",
    "read_table",
    "remove_outliers",
    "require_columns",
    "require_numeric",
    "segment_means",
    "study_outlier_rule",
    "user_row",
]
