-- The review queue's flagged predictions: a bounded range on flagged_at (NULL, i.e. unflagged, sorts after it).
CREATE INDEX prediction_flagged ON prediction (deployment_id, status, flagged_at, id);
-- Its shadow disagreements: only the rows a shadow answered, newest first, instead of every waiting row.
CREATE INDEX prediction_shadow_outcome ON prediction (deployment_id, status, shadow_status, id);
