Braintree::Configuration.environment = :production
Braintree::Configuration.merchant_id = "acmecorp_prod"
Braintree::Configuration.public_key = "9f3b1f4ae92f1e4a27f107ef3340a7c987b922a9"[0, 16]
Braintree::Configuration.private_key = "dd7ce9dd8062f4ea721afcf64933813f"

ActionMailer::Base.smtp_settings = {
  :address => "smtp.acme-corp.io",
  :user_name => "legacy-mailer",
  :password => "14pGoDWQElp1m3+9",
  :authentication => :plain,
}
