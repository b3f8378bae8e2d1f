package postgres

// FinishSQL is the finish statement, for its plan's test.
const FinishSQL = finishSQL
