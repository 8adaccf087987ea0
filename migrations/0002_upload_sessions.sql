CREATE TABLE `upload_parts` (
	`session_id` text NOT NULL,
	`part_number` integer NOT NULL,
	`state` text NOT NULL,
	`claim` text,
	`claimed_at` integer,
	`size` integer,
	`sha256` text,
	`etag` text,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`session_id`, `part_number`),
	FOREIGN KEY (`session_id`) REFERENCES `upload_sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `upload_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`space_kind` text NOT NULL,
	`space_id` text NOT NULL,
	`folder_id` text,
	`name` text NOT NULL,
	`size` integer NOT NULL,
	`declared_sha256` text,
	`content_type` text NOT NULL,
	`client_id` text,
	`policy_id` text NOT NULL,
	`mode` text NOT NULL,
	`chunk_size` integer NOT NULL,
	`part_count` integer NOT NULL,
	`storage_key` text NOT NULL,
	`multipart_id` text,
	`state` text DEFAULT 'open' NOT NULL,
	`failure_code` text,
	`failure_message` text,
	`cleanup_pending` integer DEFAULT false NOT NULL,
	`file_id` text,
	`expires_at` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`policy_id`) REFERENCES `storage_policies`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `upload_sessions_user_idx` ON `upload_sessions` (`user_id`,`state`);--> statement-breakpoint
CREATE INDEX `upload_sessions_expires_idx` ON `upload_sessions` (`expires_at`);