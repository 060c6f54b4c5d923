//! Support for the black-box tests in `tests/`: the fuzz targets' entry points, which
//! the stable tests replay the corpus through.

pub mod fuzzing;
