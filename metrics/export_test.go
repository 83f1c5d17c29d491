package metrics

// WithMemoCapForTest bounds each label memo, so external tests can reach
// the cap.
var WithMemoCapForTest = withMemoCap
