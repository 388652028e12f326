-- The review queue's flagged predictions: a bounded range on flagged_at (NULL, i.e. unflagged, sorts after it).
CREATE INDEX prediction_flagged ON prediction (deployment_id, status, flagged_at, id);
-- Its shadow disagreements: only the rows a shadow answered, newest first, instead of every waiting row.
CREATE INDEX prediction_shadow_outcome ON prediction (deployment_id, status, shadow_status, id);
-- Every insert maintains every index, so one that no query needs any more goes: the list's confidence filter walks
-- (deployment_id, id) and the queue's confidence conditions use prediction_queue_order (V9).
DROP INDEX prediction_deployment_confidence;
