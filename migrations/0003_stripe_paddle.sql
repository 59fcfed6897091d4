CREATE TABLE "store_purchase_links" (
	"app_id" uuid NOT NULL,
	"store" text NOT NULL,
	"external_id" text NOT NULL,
	"customer_user_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "store_purchase_links_app_id_store_external_id_pk" PRIMARY KEY("app_id","store","external_id")
);
--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "stripe_secret_key" text;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "stripe_webhook_secret" text;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "paddle_api_key" text;--> statement-breakpoint
ALTER TABLE "store_purchase_links" ADD CONSTRAINT "store_purchase_links_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;