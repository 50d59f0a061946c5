//! Reports written for people: image grids (and, later, cluster sheets and plots).

mod grid;

pub use grid::{compose_grid, write_grid_png, BACKGROUND};

mod heatmap;
pub use heatmap::{cell_size, render_heatmap, write_heatmap_png, CELL, MAX_SIDE};

mod scores;
pub use scores::{scored_document, write_json, write_scored, ReportWriteError};

mod csv;
pub use csv::csv_field;
