CREATE TABLE `app_passwords` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`read_only` integer DEFAULT false NOT NULL,
	`last_used_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `app_passwords_token_hash_unique` ON `app_passwords` (`token_hash`);--> statement-breakpoint
CREATE INDEX `app_passwords_user_idx` ON `app_passwords` (`user_id`);--> statement-breakpoint
CREATE TABLE `dav_locks` (
	`token` text PRIMARY KEY NOT NULL,
	`space_kind` text NOT NULL,
	`space_id` text NOT NULL,
	`path` text NOT NULL,
	`depth` text NOT NULL,
	`scope` text NOT NULL,
	`owner` text DEFAULT '' NOT NULL,
	`user_id` text NOT NULL,
	`timeout_seconds` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `dav_locks_path_idx` ON `dav_locks` (`space_kind`,`space_id`,`path`);--> statement-breakpoint
CREATE INDEX `dav_locks_expires_idx` ON `dav_locks` (`expires_at`);--> statement-breakpoint
CREATE TABLE `dav_properties` (
	`id` text PRIMARY KEY NOT NULL,
	`file_id` text,
	`folder_id` text,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`xml` text NOT NULL,
	FOREIGN KEY (`file_id`) REFERENCES `files`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`folder_id`) REFERENCES `folders`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `dav_properties_file_idx` ON `dav_properties` (`file_id`,`namespace`,`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `dav_properties_folder_idx` ON `dav_properties` (`folder_id`,`namespace`,`name`);