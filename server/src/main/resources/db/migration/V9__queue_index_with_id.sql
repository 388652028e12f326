-- The low-confidence part of the review queue asks for the least confident first, ties by id. With id in the index
-- both databases read it in that order and stop after LIMIT rows; without it H2 read every low-confidence row.
CREATE INDEX prediction_queue_order ON prediction (deployment_id, status, confidence, id);
DROP INDEX prediction_queue;
