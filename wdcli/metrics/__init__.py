"""What the numbers of finished runs mean, in plain Python and numpy: training health (a run's
status), grokking columns, the per-λ summary and the choice of λ_min and λ_1se."""
