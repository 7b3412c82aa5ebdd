"""Operations: metrics, traces, reports, the unanswered questions, comparisons and evals."""
