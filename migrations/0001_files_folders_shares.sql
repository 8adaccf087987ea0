CREATE TABLE `files` (
	`id` text PRIMARY KEY NOT NULL,
	`space_kind` text NOT NULL,
	`space_id` text NOT NULL,
	`folder_id` text,
	`name` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`content_type` text DEFAULT 'application/octet-stream' NOT NULL,
	`policy_id` text NOT NULL,
	`storage_key` text NOT NULL,
	`location` text,
	`trashed_at` integer,
	`trash_root_id` text,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`policy_id`) REFERENCES `storage_policies`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `files_live_name_idx` ON `files` (`space_kind`,`space_id`,`folder_id`,`name`) WHERE "files"."trashed_at" is null and "files"."folder_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX `files_live_root_name_idx` ON `files` (`space_kind`,`space_id`,`name`) WHERE "files"."trashed_at" is null and "files"."folder_id" is null;--> statement-breakpoint
CREATE INDEX `files_folder_idx` ON `files` (`space_kind`,`space_id`,`folder_id`);--> statement-breakpoint
CREATE INDEX `files_trash_idx` ON `files` (`space_kind`,`space_id`,`trash_root_id`);--> statement-breakpoint
CREATE INDEX `files_trashed_at_idx` ON `files` (`trashed_at`);--> statement-breakpoint
CREATE INDEX `files_policy_idx` ON `files` (`policy_id`);--> statement-breakpoint
CREATE TABLE `folders` (
	`id` text PRIMARY KEY NOT NULL,
	`space_kind` text NOT NULL,
	`space_id` text NOT NULL,
	`parent_id` text,
	`name` text NOT NULL,
	`trashed_at` integer,
	`trash_root_id` text,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `folders_live_name_idx` ON `folders` (`space_kind`,`space_id`,`parent_id`,`name`) WHERE "folders"."trashed_at" is null and "folders"."parent_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX `folders_live_root_name_idx` ON `folders` (`space_kind`,`space_id`,`name`) WHERE "folders"."trashed_at" is null and "folders"."parent_id" is null;--> statement-breakpoint
CREATE INDEX `folders_parent_idx` ON `folders` (`space_kind`,`space_id`,`parent_id`);--> statement-breakpoint
CREATE INDEX `folders_trash_idx` ON `folders` (`space_kind`,`space_id`,`trash_root_id`);--> statement-breakpoint
CREATE TABLE `pending_object_deletions` (
	`id` text PRIMARY KEY NOT NULL,
	`policy_id` text NOT NULL,
	`storage_key` text NOT NULL,
	`location` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`next_attempt_at` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`policy_id`) REFERENCES `storage_policies`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `pending_object_deletions_next_idx` ON `pending_object_deletions` (`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `shares` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`space_kind` text NOT NULL,
	`space_id` text NOT NULL,
	`created_by` text NOT NULL,
	`file_id` text,
	`folder_id` text,
	`password_hash` text,
	`expires_at` integer,
	`max_downloads` integer,
	`download_count` integer DEFAULT 0 NOT NULL,
	`revoked_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`file_id`) REFERENCES `files`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`folder_id`) REFERENCES `folders`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `shares_token_hash_unique` ON `shares` (`token_hash`);--> statement-breakpoint
CREATE INDEX `shares_space_idx` ON `shares` (`space_kind`,`space_id`,`created_by`);