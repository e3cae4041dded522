//! nvmx core
