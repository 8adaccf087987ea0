ALTER TABLE `node_events` ADD `repeats` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `node_events` ADD `first_at` integer;--> statement-breakpoint
CREATE INDEX `node_events_node_kind_at_idx` ON `node_events` (`node_id`,`kind`,`at`);