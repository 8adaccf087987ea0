CREATE TABLE `move_items` (
	`job_id` text NOT NULL,
	`file_id` text NOT NULL,
	`size` integer NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`claim` text,
	`claimed_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`last_message` text,
	`dest_key` text,
	`dest_location` text,
	`pull_id` text,
	`path` text,
	`copied_bytes` integer DEFAULT 0 NOT NULL,
	`finished_at` integer,
	PRIMARY KEY(`job_id`, `file_id`),
	FOREIGN KEY (`job_id`) REFERENCES `move_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `move_items_due_idx` ON `move_items` (`job_id`,`state`,`next_attempt_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `move_items_one_active_idx` ON `move_items` (`file_id`) WHERE "move_items"."state" in ('pending', 'copying');--> statement-breakpoint
CREATE TABLE `move_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`source_kind` text NOT NULL,
	`source_policy_id` text,
	`source_node_id` text,
	`source_name` text NOT NULL,
	`target_policy_id` text,
	`target_name` text NOT NULL,
	`scope_kind` text DEFAULT 'all' NOT NULL,
	`scope_id` text,
	`state` text DEFAULT 'running' NOT NULL,
	`created_by` text,
	`run_ms` integer DEFAULT 0 NOT NULL,
	`running_since` integer,
	`runner_claim` text,
	`runner_until` integer,
	`bytes_relayed` integer DEFAULT 0 NOT NULL,
	`finished_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`source_policy_id`) REFERENCES `storage_policies`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`source_node_id`) REFERENCES `follower_nodes`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`target_policy_id`) REFERENCES `storage_policies`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `move_jobs_state_idx` ON `move_jobs` (`state`);