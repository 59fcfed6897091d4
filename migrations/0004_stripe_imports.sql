CREATE TABLE "stripe_imports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" uuid NOT NULL,
	"customer_user_id" text NOT NULL,
	"stripe_customer_id" text,
	"tokens" jsonb NOT NULL,
	"status" text NOT NULL,
	"total" integer,
	"done" integer DEFAULT 0 NOT NULL,
	"results" jsonb NOT NULL,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"lease_until" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "stripe_imports" ADD CONSTRAINT "stripe_imports_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "stripe_imports_app_created_idx" ON "stripe_imports" USING btree ("app_id","created_at");--> statement-breakpoint
CREATE INDEX "stripe_imports_open_idx" ON "stripe_imports" USING btree ("created_at") WHERE status in ('queued', 'running');