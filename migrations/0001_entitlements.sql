CREATE TABLE "events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"feed_seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "events_feed_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"app_id" uuid NOT NULL,
	"profile_id" uuid NOT NULL,
	"profile_seq" bigint NOT NULL,
	"event_type" text NOT NULL,
	"event_datetime" timestamp with time zone NOT NULL,
	"environment" text NOT NULL,
	"payload" json NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"app_id" uuid NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"state" text NOT NULL,
	"locked_until" timestamp with time zone NOT NULL,
	"response_status" integer,
	"response_headers" jsonb,
	"response_body" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "idempotency_keys_app_id_key_pk" PRIMARY KEY("app_id","key")
);
--> statement-breakpoint
CREATE TABLE "ledger_entries" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ledger_entries_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" uuid NOT NULL,
	"app_id" uuid NOT NULL,
	"profile_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	"entry" json NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product_store_products" (
	"app_id" uuid NOT NULL,
	"product_uuid" uuid NOT NULL,
	"store" text NOT NULL,
	"store_product_id" text NOT NULL,
	CONSTRAINT "product_store_products_app_id_store_store_product_id_pk" PRIMARY KEY("app_id","store","store_product_id")
);
--> statement-breakpoint
CREATE TABLE "products" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" uuid NOT NULL,
	"product_id" text NOT NULL,
	"access_level_id" text NOT NULL,
	"type" text NOT NULL,
	"period" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "purchase_chains" (
	"app_id" uuid NOT NULL,
	"store" text NOT NULL,
	"store_original_transaction_id" text NOT NULL,
	"state" json NOT NULL,
	"end_events_written_for" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "purchase_chains_app_id_store_store_original_transaction_id_pk" PRIMARY KEY("app_id","store","store_original_transaction_id")
);
--> statement-breakpoint
CREATE TABLE "scheduled_jobs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" uuid NOT NULL,
	"profile_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"subject" text NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "store_transactions" (
	"app_id" uuid NOT NULL,
	"store" text NOT NULL,
	"store_transaction_id" text NOT NULL,
	"store_original_transaction_id" text NOT NULL,
	"purchase_id" uuid NOT NULL,
	"profile_id" uuid NOT NULL,
	"record" json NOT NULL,
	"price_usd" double precision,
	"revenue_usd" double precision DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "store_transactions_app_id_store_store_transaction_id_pk" PRIMARY KEY("app_id","store","store_transaction_id")
);
--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "sharing_mode" text DEFAULT 'enabled' NOT NULL;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "sandbox_sharing_mode" text DEFAULT 'enabled' NOT NULL;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "exchange_rates" jsonb;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "entitlements" json DEFAULT '{"chains":[],"purchases":[],"grants":[]}'::json NOT NULL;--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "event_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_store_products" ADD CONSTRAINT "product_store_products_product_uuid_products_id_fk" FOREIGN KEY ("product_uuid") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_access_level_fk" FOREIGN KEY ("app_id","access_level_id") REFERENCES "public"."access_levels"("app_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "events_profile_seq_key" ON "events" USING btree ("app_id","profile_id","profile_seq");--> statement-breakpoint
CREATE INDEX "events_app_feed_idx" ON "events" USING btree ("app_id","feed_seq");--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires_idx" ON "idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "ledger_entries_app_seq_idx" ON "ledger_entries" USING btree ("app_id","seq");--> statement-breakpoint
CREATE INDEX "product_store_products_product_idx" ON "product_store_products" USING btree ("product_uuid");--> statement-breakpoint
CREATE UNIQUE INDEX "products_app_product_id_key" ON "products" USING btree ("app_id","product_id");--> statement-breakpoint
CREATE UNIQUE INDEX "scheduled_jobs_key" ON "scheduled_jobs" USING btree ("app_id","profile_id","kind","subject");--> statement-breakpoint
CREATE INDEX "scheduled_jobs_due_idx" ON "scheduled_jobs" USING btree ("due_at");