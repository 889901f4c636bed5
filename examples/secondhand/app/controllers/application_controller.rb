class ApplicationController < ActionController::API
  # Any database failure (server gone, read-only, timeout) answers 503 with the error class only:
  # messages can name hosts and users, never something to hand to a client. The worker lives on and
  # the next request checks out a verified (reconnected) connection from the pool.
  rescue_from ActiveRecord::ActiveRecordError, "Mysql2::Error" do |error|
    logger.warn("database error: #{error.class}")
    render json: { error: error.class.name }, status: :service_unavailable
  end
end
