-- How long a live shadow input waited in the shadow's queue before its pass started (ms), reported apart from the
-- pass itself, and whether the result was made later by the backfill (a skipped input that a person reviewed, run
-- from its stored payload) rather than beside the primary.
ALTER TABLE prediction ADD COLUMN shadow_wait_ms DOUBLE PRECISION;
ALTER TABLE prediction ADD COLUMN shadow_backfilled BOOLEAN;

-- Continuous deployment's own settings for automatic rollback after an automatic promotion (bake period and
-- thresholds), the bake now under way or the last one with its outcome, and why the last candidate was turned
-- away (rejected by the promoter or rolled back), so that a deployment shows it after the shadow is gone.
ALTER TABLE continuous_deployment ADD COLUMN rollback_json TEXT;
ALTER TABLE continuous_deployment ADD COLUMN bake_json TEXT;
ALTER TABLE continuous_deployment ADD COLUMN last_rejection_json TEXT;

-- Predict requests a model version failed (the runtime threw or returned garbage), per minute: failed requests log
-- no prediction row, and the bake watch compares a new primary's error rate with its predecessor's record.
CREATE TABLE model_failure (
    deployment_id    VARCHAR(40) NOT NULL REFERENCES deployment (id),
    model_version_id VARCHAR(40) NOT NULL REFERENCES model_version (id),
    minute_start     TIMESTAMP WITH TIME ZONE NOT NULL,
    failures         BIGINT      NOT NULL,
    PRIMARY KEY (deployment_id, model_version_id, minute_start)
);
