-- Nothing to undo: 0011 changed how the intake functions find their rows, not what they return. Rolling
-- 0010 back drops them.
SELECT 1;
