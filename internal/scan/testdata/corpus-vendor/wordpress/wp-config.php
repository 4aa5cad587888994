<?php
/**
 * The base configuration for WordPress
 */

// ** Database settings ** //
define( 'DB_NAME', 'acme_blog' );
define( 'DB_USER', 'acme_blog' );
define( 'DB_PASSWORD', 'gmcYw1F05bkdcDar-6' );
define( 'DB_HOST', 'blog-db.internal' );
define( 'DB_CHARSET', 'utf8mb4' );

/**#@+
 * Authentication unique keys and salts.
 */
define( 'AUTH_KEY',         'DaSRYs3Cy}G) lvFPE%|)C,XgTc/m5lLnFq/hs[iP- ~53`mtRyX<yEL~Iv ?59`' );
define( 'SECURE_AUTH_KEY',  '+/|&v=W56nYHQ+/3@K@|x7VMEwK?jMt?K[sOYJ|O53LW(Ct!o_f8cvX8&?Zg~K[X' );
define( 'LOGGED_IN_KEY',    '0Xf!2ImBs!Sqih-Xa!W2KTRq6[5Kj{6]I#|vo71N!!Mw*?bJ2qvINY0L*NfH8#^a' );
define( 'NONCE_KEY',        '&E?){-&.ltDY6qgRht<tp{l3hqN!Bmk|e>o3oqL)}PHw]V`!HV]]ae.-2[y)%/p#' );
define( 'AUTH_SALT',        'TdC>w;<4XU#BfaINbEku|X3nHsa;epIAz;H/5B6z^ixHnaq[V`5^W+^EedXJGT!P' );
define( 'SECURE_AUTH_SALT', 'bhHfHJ:sS?1c-{*:R(SE*AtZk5,/gxwp;:%y=BC9G2lQS:CK:0Jc(z= voEs[1*F' );
define( 'LOGGED_IN_SALT',   '4rGc6R88Wlq,sqi<6%nS@3tw]..p9bh]L,a3.JSofS<F64eAQJq20ixC[>Ln3>;4' );
define( 'NONCE_SALT',       '>p{[5[/PGjwf@tVAx*H}y!PoYHwb]k;UY;7hHDkzffeO}Zi#8i/z`q=y#vOfibS)' );
/**#@-*/

$table_prefix = 'wp_';
define( 'WP_DEBUG', false );
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
