# Count lines: called from a shell: rule with Rscript.
args <- commandArgs(trailingOnly = TRUE)
x <- readLines(args[1])
writeLines(as.character(length(x)), args[2])
